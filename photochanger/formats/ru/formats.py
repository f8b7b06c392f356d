"""Django's Russian date formats, with the time zone's name after a date and time (09:08 MSK):
the admin and any `{{ datetime }}` show it, as the staff pages do (core/timezones.py). Formats
not set here are Django's own (django/conf/locale/ru/formats.py), found after this module."""

DATETIME_FORMAT = "j E Y г. G:i T"
SHORT_DATETIME_FORMAT = "d.m.Y H:i T"
