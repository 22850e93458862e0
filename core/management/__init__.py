"""The app's management commands (thin: parse the options, call one function)."""
