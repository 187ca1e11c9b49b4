"""The application: configuration, composition root, middlewares, i18n and use cases."""
