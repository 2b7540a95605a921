"""The benchmark suite: ``python -m peerstate.bench``.

It measures what users pay for, each beside a baseline measured in the same run on the
same machine, and prints one table of absolute figures and ratios, so that what it shows
is a property of peerstate and not of the machine. It is not a test: nothing here fails
because a figure is low; the table says which targets hold.

The cases (``cases``) and their baselines (``baselines``):

- opening a group replica of N events from SQLite, beside a bare ``eventsourcing``
  aggregate of N events of the same size in the same kind of store, read with a fast
  projector;
- opening such a replica from a snapshot, beside the same without one;
- one local write (add a record) end to end on SQLite, beside a bare ``eventsourcing``
  single-event save plus one signature;
- a joiner's sync ingest of N envelopes with full verification, beside a raw loop of
  the same signature verifications;
- replaying the 24-link chain scenario;
- the memory of a group with 100,000 members.

The group logs are written by the write path's own envelope publication, saved a
thousand envelopes a commit (``corpus``), so that building them does not dominate the run.
"""
