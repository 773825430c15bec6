"""The simulator behind `occupancy simulate`: a realistic office day, or a steady load, as
door sensors and kiosks would publish it over MQTT."""

from deploy.simulator.clock import Window, check_not_ahead, pick_date
from deploy.simulator.day import Attendee, Day, Meeting, Options, plan_day
from deploy.simulator.faults import FAULTS, Fault, Faults
from deploy.simulator.load import LoadStream
from deploy.simulator.messages import MESSAGE_KINDS, MessageKind, Scheduled
from deploy.simulator.summary import RoomOutlook, room_outlook

__all__ = [
    "FAULTS",
    "MESSAGE_KINDS",
    "Attendee",
    "Day",
    "Fault",
    "Faults",
    "LoadStream",
    "Meeting",
    "MessageKind",
    "Options",
    "RoomOutlook",
    "Scheduled",
    "Window",
    "check_not_ahead",
    "pick_date",
    "plan_day",
    "room_outlook",
]
