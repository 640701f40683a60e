"""``python -m emulator`` is ``amlemu``.

``python -m emulator serve``, how every image starts its scoring server, takes a short path
that imports the server only (:func:`emulator.server.command.main`), not every command's module.
"""

import sys

if sys.argv[1:2] == ["serve"]:
    from emulator.server.command import main as serve

    sys.exit(serve(sys.argv[2:]))

from emulator.cli import main

sys.exit(main())
