"""``python -m pipeline``: the ``payimport`` command where only the package is on the path.

The console script is not always there (a container or a CI step that runs the source tree,
a venv whose ``bin/`` is not on ``PATH``); the module form is the same command, and it names
itself ``payimport`` so that usage lines and error messages read as they do in the README.
"""

from pipeline.cli import main

if __name__ == "__main__":
    main(prog_name="payimport")
