"""Use cases: what a person (or the scheduler) does, as plain async functions over a session and
an actor. Handlers, scheduler jobs and tests call the same functions; each returns a result
the caller renders."""
