"""Reply and inline keyboards and the CallbackData factories they carry."""
