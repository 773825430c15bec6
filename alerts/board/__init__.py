"""The live web board each worker serves: rooms against their limits, active alerts with an
acknowledge button, door signage; plain HTML/CSS/JS in `static/`, updated by server-sent events.
"""

from alerts.board.routes import make_app
from alerts.board.server import Board
from alerts.board.state import BoardState, BuildingListing, BuildingView, RoomView

__all__ = ["Board", "BoardState", "BuildingListing", "BuildingView", "RoomView", "make_app"]
