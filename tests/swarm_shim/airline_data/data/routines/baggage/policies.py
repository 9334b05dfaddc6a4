"""Stand-in for the airline example's baggage policy, which the sdist does not ship."""

LOST_BAGGAGE_POLICY = "Lost baggage policy (test stand-in): search for the bag first.\n"
