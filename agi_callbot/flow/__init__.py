"""Flows: YAML files of blocks and actions, loaded into frozen objects the runner walks.

``model`` (the objects and the YAML shape), ``loader`` (YAML → model with file:line:col
errors, the hot-reloading library) with ``parse`` (one parser per kind) on ``reader``
(positions of YAML nodes), ``expr`` (conditions and ``${var}`` templates), ``menu``
(menu/collect state machines), ``hours``, ``lint``, ``graph``; the runner and its
blocks build on these.
"""
