"""Stand-in for the airline example's flight policies, which the sdist does not ship."""

FLIGHT_CANCELLATION_POLICY = "Flight cancellation policy (test stand-in).\n"
FLIGHT_CHANGE_POLICY = "Flight change policy (test stand-in).\n"
