"""The resident process (`reconcile daemon`): a process that has imported what plan, apply and
validate import, so that a short command does not pay Python's start-up (README: Resident process).

client.py is the console script: standard library only, it hands argv, cwd, the environment and
the standard streams to a daemon over a unix socket, or runs the command in-process; place.py is
where the socket is and whether it can be trusted, and the code's fingerprint; daemon.py is the
server, which forks a child per command; preload.py what it imports once. Nothing here but
daemon.py and preload.py may import anything outside the standard library."""
