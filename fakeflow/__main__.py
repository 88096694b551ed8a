from fakeflow.cli import main

raise SystemExit(main())
