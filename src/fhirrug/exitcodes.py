"""Exit codes of every fhirrug command. Never a count."""

OK = 0  # clean (warnings allowed unless --strict)
FINDINGS = 1  # findings at error level (or warnings with --strict); an invalid response
USAGE = 2  # usage, configuration or internal failure
