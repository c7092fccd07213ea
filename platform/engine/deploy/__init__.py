"""Deploy: validate, plan and apply migrations, repair derived values, load seed data, publish versions."""
