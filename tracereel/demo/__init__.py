"""A built-in demo agent system that fills a collector with realistic traces.

A supervisor routes customer requests to billing, tech-support, travel and research
specialists, each with its own tools and an offline scripted LLM; a seeded workload gives
a realistic mix of successes, failures, timeouts, retries, loops, guardrail violations,
escalations and groundedness scores, from a stable and a canary release. See docs/demo.md.
"""

from tracereel.demo.runner import DemoError, DemoResult, run_demo

__all__ = ["DemoError", "DemoResult", "run_demo"]
