from agi_callbot.cli import main

raise SystemExit(main())
