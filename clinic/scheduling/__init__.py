"""The scheduling domain: rules, series planning, availability search and booking.

Plain typed Python: functions take the SQLAlchemy session and ``now`` as arguments and never
import Flask.
"""
