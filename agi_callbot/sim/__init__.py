"""The simulator: an in-memory Asterisk, and the tools that run flows against it.

It sits above the router (it runs whole calls through the real runner, prompt cache
and outbox) and below the command line; nothing in the engine imports it.

``setup``        :class:`~agi_callbot.sim.setup.AsteriskSetup`: the world of one call
                 (caller, prompts, queues, agents, hold music, AGI options)
``asterisk``     :class:`~agi_callbot.sim.asterisk.MemoryAsterisk`: the clock, the wire,
                 command lines (and interruptions, 33); ``run(handler)`` in memory,
                 ``call(host, port)`` over a real FastAGI socket
``commands``     the AGI commands it answers (``variables``: variables, functions, AstDB)
``apps``         dialplan applications for EXEC (Playback, Queue, Dial…)
``media``        prompts (local files, URLs, stock SAY prompts) and hold music
``caller``       the caller's script (``"1,wait:6,2,hangup"``) or timed events
``transcript``   the wire transcripts recorded from a real Asterisk 22 (the truth)
``simulate``     one flow, one scripted call: ``agi-callbot simulate``
``cases``        ``<flow>.test.yaml`` test cases: ``agi-callbot test`` and pytest
"""
