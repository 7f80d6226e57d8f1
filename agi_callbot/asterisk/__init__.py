"""Talking to the Asterisk box beside the call, and reading its configuration.

``ami``   the Asterisk Manager Interface client, with deadlines and reconnects
``teams`` is anyone free in a team's queue (``None`` when AMI cannot say), for
          transfers and ``doctor``
``conf``  Asterisk's configuration files read the way Asterisk reads them, for
          ``doctor --asterisk-conf`` and the kit's checks
"""
