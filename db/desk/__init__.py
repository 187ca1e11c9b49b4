"""The front desk's core: staff and invites, clients and their phones, devices, tickets with
their statuses, comments and history."""
