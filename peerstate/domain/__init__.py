"""The pure core: events, the state they fold into, and the rules that judge commands.

Nothing here does I/O, reads a clock or draws random numbers: times and key material arrive
as values inside the events, so replaying a log gives the same state on every machine.
"""
