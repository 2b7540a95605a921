"""Subprocess entry points and shared checks for the crash and concurrency tests."""
