"""School-system simulators: real ASGI servers on loopback for the demo and the tests.

``base`` (sessions, captchas, lockout, stats) and ``admin`` (the token-protected admin API) are
shared by every system; ``ssfw`` is Wisedu SSFW; ``transcripts`` holds the seeded students;
``server`` runs a simulator in a thread and talks to its admin API; ``cli`` is ``gradewatch sim``.
"""
