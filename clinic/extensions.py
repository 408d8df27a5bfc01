"""Extension objects, created unbound and attached to the app in create_app."""

from apscheduler.schedulers.background import BackgroundScheduler
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from .models.base import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
# In-memory job store on purpose: jobs are defined in code (clinic.jobs) and everything that
# must survive a restart lives in the Notification table.
scheduler = BackgroundScheduler(timezone="UTC")
