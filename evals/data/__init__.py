"""Package data of tracereel.evals: the built-in prompt-injection corpus (injections.json)."""
