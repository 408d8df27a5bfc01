"""The clinical record of each monitored session and the gates it enforces on the day.

- ``inputs``: what a nurse records (typed inputs) and the checks every entry passes;
- ``record``: appending and amending entries (append-only, audited);
- ``checkpoints``: which vitals checkpoints are done, due or overdue (pure);
- ``gates``: when treatment may start, what discharge needs, who may override;
- ``rems``: the esketamine REMS monitoring forms and their filing deadline;
- ``queries``: reading a record, the board's checks in bulk.

Plain typed Python: no Flask. Functions take ``session``, keyword arguments, ``now`` and
``actor``; refusals derive from ``clinic.errors``.
"""
