"""Webhook endpoints (``clinic.webhooks.endpoints``): register one (its secret shown once),
change it, give it a new secret, remove it; its delivery log with a "send again" button."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import BooleanField, PasswordField, StringField

from ...clock import now
from ...extensions import db
from ...permissions import Permission
from ...webhooks import endpoints
from ...webhooks.addresses import AddressPolicy
from ...webhooks.delivery import delivery_settings_from_config
from ...webhooks.events import EVENT_LABELS
from ..access import current_actor, require
from ..answers import INVALID_FORM, Refusal, attempt
from ..formtools import CheckboxesField, options
from . import bp
from .buttons import remove

EVENT_CHOICES = options((event.value, label) for event, label in EVENT_LABELS.items())
SECRET_HINT = "Leave blank to have a strong one made. It is shown once."


class EndpointForm(FlaskForm):
    name = StringField("Name", description="What receives them, e.g. 'EHR'.")
    url = StringField("URL", description="Where the events are sent (https).")
    event_types = CheckboxesField("Events", choices=EVENT_CHOICES)


class NewEndpointForm(EndpointForm):
    secret = PasswordField("Signing secret (optional)", description=SECRET_HINT)


class EditEndpointForm(EndpointForm):
    active = BooleanField("Active (deliveries are sent)")


class SecretForm(FlaskForm):
    secret = PasswordField("New signing secret (optional)", description=SECRET_HINT)


class ResendForm(FlaskForm):
    """Only the CSRF token: the delivery is in the address."""


def _policy() -> AddressPolicy:
    return delivery_settings_from_config(current_app.config).policy


def _index_page(
    form: NewEndpointForm, *, new_secret: str | None = None, status: int = 200
) -> tuple[str, int]:
    return render_template(
        "admin/webhooks.html",
        form=form,
        summaries=endpoints.list_endpoints(db.session()),
        policy=_policy(),
        new_secret=new_secret,
    ), status


@bp.get("/webhooks")
@require(Permission.MANAGE_INTEGRATIONS)
def webhooks() -> ResponseReturnValue:
    return _index_page(NewEndpointForm(formdata=None))


@bp.post("/webhooks")
@require(Permission.MANAGE_INTEGRATIONS)
def create_webhook() -> ResponseReturnValue:
    form = NewEndpointForm()
    if not form.validate_on_submit():
        flash(INVALID_FORM, "error")
        return _index_page(form, status=422)
    # Not a redirect: the secret is shown in this answer only (never flashed, so it is not
    # kept in the session cookie).
    registered = attempt(
        form,
        lambda: endpoints.register_endpoint(
            db.session(),
            name=form.name.data or "",
            url=form.url.data or "",
            event_types=form.event_types.data or [],
            secret=form.secret.data,
            actor=current_actor(),
            now=now(),
            policy=_policy(),
            app_secret_key=str(current_app.config["SECRET_KEY"]),
        ),
    )
    if isinstance(registered, Refusal):
        return _index_page(form, status=registered.status)
    flash(f"Endpoint {registered.endpoint.name} registered.", "success")
    return _index_page(NewEndpointForm(formdata=None), new_secret=registered.secret)


def _endpoint_page(
    endpoint_id: int,
    *,
    form: EditEndpointForm | None = None,
    secret_form: SecretForm | None = None,
    new_secret: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    session = db.session()
    endpoint = endpoints.get_endpoint(session, endpoint_id)
    if form is None:
        form = EditEndpointForm(formdata=None, obj=endpoint)
    return render_template(
        "admin/webhooks_endpoint.html",
        endpoint=endpoint,
        form=form,
        secret_form=secret_form or SecretForm(formdata=None),
        log=endpoints.delivery_log(session, endpoint_id=endpoint_id),
        policy=_policy(),
        new_secret=new_secret,
        labels=EVENT_LABELS,
    ), status


@bp.route("/webhooks/<int(min=1, max=2147483647):endpoint_id>", methods=["GET", "POST"])
@require(Permission.MANAGE_INTEGRATIONS)
def webhook(endpoint_id: int) -> ResponseReturnValue:
    form = EditEndpointForm()
    if not form.is_submitted():
        return _endpoint_page(endpoint_id)
    if not form.validate_on_submit():
        flash(INVALID_FORM, "error")
        return _endpoint_page(endpoint_id, form=form, status=422)
    saved = attempt(
        form,
        lambda: endpoints.update_endpoint(
            db.session(),
            endpoint_id=endpoint_id,
            name=form.name.data or "",
            url=form.url.data or "",
            event_types=form.event_types.data or [],
            active=bool(form.active.data),
            actor=current_actor(),
            now=now(),
            policy=_policy(),
        ),
    )
    if isinstance(saved, Refusal):
        return _endpoint_page(endpoint_id, form=form, status=saved.status)
    flash("Endpoint saved.", "success")
    return redirect(url_for("admin.webhook", endpoint_id=endpoint_id))


@bp.post("/webhooks/<int(min=1, max=2147483647):endpoint_id>/secret")
@require(Permission.MANAGE_INTEGRATIONS)
def webhook_secret(endpoint_id: int) -> ResponseReturnValue:
    form = SecretForm()
    if not form.validate_on_submit():
        flash(INVALID_FORM, "error")
        return _endpoint_page(endpoint_id, secret_form=form, status=422)
    replaced = attempt(
        form,
        lambda: endpoints.replace_secret(
            db.session(),
            endpoint_id=endpoint_id,
            secret=form.secret.data,
            actor=current_actor(),
            now=now(),
            app_secret_key=str(current_app.config["SECRET_KEY"]),
        ),
    )
    if isinstance(replaced, Refusal):
        return _endpoint_page(endpoint_id, secret_form=form, status=replaced.status)
    flash("New secret saved: deliveries are signed with it from now on.", "success")
    return _endpoint_page(endpoint_id, new_secret=replaced.secret)


@bp.post("/webhooks/<int(min=1, max=2147483647):endpoint_id>/delete")
@require(Permission.MANAGE_INTEGRATIONS)
def delete_webhook(endpoint_id: int) -> Response:
    def removed() -> int:
        endpoints.remove_endpoint(db.session(), endpoint_id=endpoint_id, actor=current_actor())
        return endpoint_id

    return remove(
        removed, done="Endpoint removed.", redirect_to=lambda _: url_for("admin.webhooks")
    )


@bp.post("/webhook-deliveries/<int(min=1, max=2147483647):delivery_id>/resend")
@require(Permission.MANAGE_INTEGRATIONS)
def resend_webhook(delivery_id: int) -> Response:
    if not ResendForm().validate_on_submit():
        abort(400)
    # A refusal (already queued) is flashed on the admin overview by the app-wide handler;
    # a delivery that is gone is the 404 page.
    delivery = endpoints.send_again(
        db.session(), delivery_id=delivery_id, actor=current_actor(), now=now()
    )
    flash("Queued again: it will be sent within a few seconds.", "success")
    return redirect(url_for("admin.webhook", endpoint_id=delivery.endpoint_id) + "#log")
