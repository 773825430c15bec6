"""`occupancy demo`: the whole pipeline on one machine, with a live board, in one command."""
