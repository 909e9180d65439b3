"""Tables: a bot's typed record store (docs/tables.md).

A table's definition (name, columns) is part of the bot file (`tables` in flowstudio.bot/1);
its rows live in the database (`flows.models.TableRow`), one JSON object per row, shared by
the draft and every published version of the bot. `definition` reads and checks the
definitions, `filters` compiles the filter language to Django expressions, `service` is every
operation on rows, `csv_io` imports and exports a table as CSV.
"""
