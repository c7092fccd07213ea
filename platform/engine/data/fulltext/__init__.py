"""Full-text search of entities with `search: {fields: ...}`: words and stems (`terms`), the
index in the database and its upkeep (`index`), ranked matches for an actor (`match`),
highlighted snippets (`snippets`) and the search over several entities (`site`)."""
