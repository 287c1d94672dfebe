"""Performance harness: ``python -m bench --rows N`` (see BENCHMARKS.md).

``database`` prepares a seeded database, ``ops`` holds the operations and their SQL floors,
``timing`` measures, ``run`` puts it together, ``app_memory`` measures the app's RSS.
"""
