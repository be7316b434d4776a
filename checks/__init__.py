"""Built-in checks. Importing this package registers them (and their shared artifacts).

Adding a check: write the module, its tests, and add its import below.
"""

from checks import _features, _text, duplication, integrity, structured_output  # noqa: F401
