"""The network runtime: the same pure cores, served over real TCP sockets."""
