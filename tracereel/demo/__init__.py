"""The built-in demo agent system."""
