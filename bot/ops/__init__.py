"""Operations: backups and restores (backup.py), reading a client base file (import_file.py).
Plain functions for the CLI (`python -m bot ...`), the owner's chat commands and the scheduler;
no aiogram here."""
