"""Ralph's LRS with its file-system backend, started as `ralph runserver -b fs` starts it but
in one process (runserver adds a file-watching reloader). Run by the Python of Ralph's own
environment (tests/support/ralph_lrs.py), never imported by the tests: `ralph_serve.py PORT`.

Ralph 5.1's file-system LRS writes every POST with the `create` operation, which refuses once its
one file exists, so only the first POST would ever be stored; `append` is what an LRS kept in one
file needs. Everything else (authentication, validation, duplicate ids, queries) is Ralph's own.
"""

import sys

import uvicorn
from ralph.backends.data.base import BaseOperationType
from ralph.backends.lrs.fs import FSLRSBackend

FSLRSBackend.default_operation_type = BaseOperationType.APPEND

uvicorn.run("ralph.api:app", host="127.0.0.1", port=int(sys.argv[1]), log_level="info")
