"""Pure domain code of Liên Xã: boundaries, adjacency, rules, resources, needs, planning."""
