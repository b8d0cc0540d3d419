"""The ``eoforge`` command line: thin wiring of the library's packages."""
