"""Stand-in for the airline example's prompt module, which the sdist does not ship."""

STARTER_PROMPT = "You are an airline customer service agent (test stand-in prompt).\n"
