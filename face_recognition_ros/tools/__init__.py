"""Programs around the nodes, not nodes: the demo and the launcher of node processes.

``processes``: one node executable (or any ROS program) as a child process, used by the
demo, the benchmarks and the test harness alike; ``demo``: the whole pipeline on the
bundled clip (``scripts/demo.sh``).
"""
