"""team_chat: a small team chat membership service built on peerstate.

Each user's machine is simulated by one peerstate store (a SQLite file) under a data
directory; teams are peer groups, chat messages are records of the group database, and
``sync`` lets every user's peer meet the others in this process. See README.md.
"""
