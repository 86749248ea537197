"""Full-text search, and what each import from the ITSM wrote.

Full-text search: an FTS5 table per searched table on SQLite (kept in step by triggers); on PostgreSQL a stored
generated English tsvector column (``search_vector``) per searched table with a GIN index on it. Existing rows are
indexed as the objects are created.

The statements are written out here as they stood at this revision; ``create_all`` runs the same ones from
``incidents.search.ddl``, and a test checks that the two agree.

The import record keeps, per imported incident, the values the last import left it with (the next import compares
with them to tell a field edited in the tool).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 10:50:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

# The full-text objects as this revision builds them, frozen (incidents.search.ddl builds the same for
# create_all; tests/search checks the two agree).
POSTGRESQL_CREATE = (
    'ALTER TABLE "incident" ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ((to_tsvector(\'english\'::regconfig, coalesce("reference", \'\') || \' \' || coalesce("title", \'\') || \' \' || coalesce("cause", \'\') || \' \' || coalesce("impact", \'\')))) STORED',
    'CREATE INDEX search_incident ON "incident" USING gin (search_vector)',
    'ALTER TABLE "timeline_entry" ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ((to_tsvector(\'english\'::regconfig, coalesce("text", \'\')))) STORED',
    'CREATE INDEX search_timeline ON "timeline_entry" USING gin (search_vector)',
    'ALTER TABLE "exclusion_proposal" ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ((to_tsvector(\'english\'::regconfig, coalesce("rationale", \'\') || \' \' || coalesce("response", \'\')))) STORED',
    'CREATE INDEX search_rationale ON "exclusion_proposal" USING gin (search_vector)',
    'ALTER TABLE "exclusion_review" ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ((to_tsvector(\'english\'::regconfig, coalesce("comment", \'\')))) STORED',
    'CREATE INDEX search_secas_comment ON "exclusion_review" USING gin (search_vector)',
    'ALTER TABLE "review_comment" ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ((to_tsvector(\'english\'::regconfig, coalesce("body", \'\')))) STORED',
    'CREATE INDEX search_comment ON "review_comment" USING gin (search_vector)',
    'ALTER TABLE "report_version" ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ((json_to_tsvector(\'english\'::regconfig, "sections", \'["string"]\'::jsonb))) STORED',
    'CREATE INDEX search_report ON "report_version" USING gin (search_vector)',
    'ALTER TABLE "decision" ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ((to_tsvector(\'english\'::regconfig, coalesce("minute", \'\') || \' \' || coalesce("actions_text", \'\')))) STORED',
    'CREATE INDEX search_decision ON "decision" USING gin (search_vector)',
    'ALTER TABLE "action" ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ((to_tsvector(\'english\'::regconfig, coalesce("reference", \'\') || \' \' || coalesce("text", \'\') || \' \' || coalesce("closing_note", \'\')))) STORED',
    'CREATE INDEX search_action ON "action" USING gin (search_vector)',
    'ALTER TABLE "publication" ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ((to_tsvector(\'english\'::regconfig, coalesce("reference", \'\') || \' \' || coalesce("title", \'\')) || json_to_tsvector(\'english\'::regconfig, ("snapshot" -> \'sections\'), \'["string"]\'::jsonb))) STORED',
    'CREATE INDEX search_publication ON "publication" USING gin (search_vector)',
)
POSTGRESQL_DROP = (
    'DROP INDEX IF EXISTS search_incident',
    'ALTER TABLE "incident" DROP COLUMN IF EXISTS search_vector',
    'DROP INDEX IF EXISTS search_timeline',
    'ALTER TABLE "timeline_entry" DROP COLUMN IF EXISTS search_vector',
    'DROP INDEX IF EXISTS search_rationale',
    'ALTER TABLE "exclusion_proposal" DROP COLUMN IF EXISTS search_vector',
    'DROP INDEX IF EXISTS search_secas_comment',
    'ALTER TABLE "exclusion_review" DROP COLUMN IF EXISTS search_vector',
    'DROP INDEX IF EXISTS search_comment',
    'ALTER TABLE "review_comment" DROP COLUMN IF EXISTS search_vector',
    'DROP INDEX IF EXISTS search_report',
    'ALTER TABLE "report_version" DROP COLUMN IF EXISTS search_vector',
    'DROP INDEX IF EXISTS search_decision',
    'ALTER TABLE "decision" DROP COLUMN IF EXISTS search_vector',
    'DROP INDEX IF EXISTS search_action',
    'ALTER TABLE "action" DROP COLUMN IF EXISTS search_vector',
    'DROP INDEX IF EXISTS search_publication',
    'ALTER TABLE "publication" DROP COLUMN IF EXISTS search_vector',
)
SQLITE_CREATE = (
    "CREATE VIRTUAL TABLE search_incident USING fts5(reference, title, cause, impact, tokenize = 'porter unicode61', content = 'incident', content_rowid = 'id')",
    'CREATE TRIGGER search_incident_ai AFTER INSERT ON "incident" BEGIN INSERT INTO search_incident (rowid, reference, title, cause, impact) VALUES (NEW.id, coalesce(NEW."reference", \'\'), coalesce(NEW."title", \'\'), coalesce(NEW."cause", \'\'), coalesce(NEW."impact", \'\')); END',
    'CREATE TRIGGER search_incident_ad AFTER DELETE ON "incident" BEGIN INSERT INTO search_incident (search_incident, rowid, reference, title, cause, impact) VALUES (\'delete\', OLD.id, coalesce(OLD."reference", \'\'), coalesce(OLD."title", \'\'), coalesce(OLD."cause", \'\'), coalesce(OLD."impact", \'\')); END',
    'CREATE TRIGGER search_incident_au AFTER UPDATE OF "reference", "title", "cause", "impact" ON "incident" BEGIN INSERT INTO search_incident (search_incident, rowid, reference, title, cause, impact) VALUES (\'delete\', OLD.id, coalesce(OLD."reference", \'\'), coalesce(OLD."title", \'\'), coalesce(OLD."cause", \'\'), coalesce(OLD."impact", \'\')); INSERT INTO search_incident (rowid, reference, title, cause, impact) VALUES (NEW.id, coalesce(NEW."reference", \'\'), coalesce(NEW."title", \'\'), coalesce(NEW."cause", \'\'), coalesce(NEW."impact", \'\')); END',
    'INSERT INTO search_incident (rowid, reference, title, cause, impact) SELECT id, coalesce("incident"."reference", \'\'), coalesce("incident"."title", \'\'), coalesce("incident"."cause", \'\'), coalesce("incident"."impact", \'\') FROM "incident"',
    "CREATE VIRTUAL TABLE search_timeline USING fts5(text, tokenize = 'porter unicode61', content = 'timeline_entry', content_rowid = 'id')",
    'CREATE TRIGGER search_timeline_ai AFTER INSERT ON "timeline_entry" BEGIN INSERT INTO search_timeline (rowid, text) VALUES (NEW.id, coalesce(NEW."text", \'\')); END',
    'CREATE TRIGGER search_timeline_ad AFTER DELETE ON "timeline_entry" BEGIN INSERT INTO search_timeline (search_timeline, rowid, text) VALUES (\'delete\', OLD.id, coalesce(OLD."text", \'\')); END',
    'CREATE TRIGGER search_timeline_au AFTER UPDATE OF "text" ON "timeline_entry" BEGIN INSERT INTO search_timeline (search_timeline, rowid, text) VALUES (\'delete\', OLD.id, coalesce(OLD."text", \'\')); INSERT INTO search_timeline (rowid, text) VALUES (NEW.id, coalesce(NEW."text", \'\')); END',
    'INSERT INTO search_timeline (rowid, text) SELECT id, coalesce("timeline_entry"."text", \'\') FROM "timeline_entry"',
    "CREATE VIRTUAL TABLE search_rationale USING fts5(rationale, response, tokenize = 'porter unicode61', content = 'exclusion_proposal', content_rowid = 'id')",
    'CREATE TRIGGER search_rationale_ai AFTER INSERT ON "exclusion_proposal" BEGIN INSERT INTO search_rationale (rowid, rationale, response) VALUES (NEW.id, coalesce(NEW."rationale", \'\'), coalesce(NEW."response", \'\')); END',
    'CREATE TRIGGER search_rationale_ad AFTER DELETE ON "exclusion_proposal" BEGIN INSERT INTO search_rationale (search_rationale, rowid, rationale, response) VALUES (\'delete\', OLD.id, coalesce(OLD."rationale", \'\'), coalesce(OLD."response", \'\')); END',
    'CREATE TRIGGER search_rationale_au AFTER UPDATE OF "rationale", "response" ON "exclusion_proposal" BEGIN INSERT INTO search_rationale (search_rationale, rowid, rationale, response) VALUES (\'delete\', OLD.id, coalesce(OLD."rationale", \'\'), coalesce(OLD."response", \'\')); INSERT INTO search_rationale (rowid, rationale, response) VALUES (NEW.id, coalesce(NEW."rationale", \'\'), coalesce(NEW."response", \'\')); END',
    'INSERT INTO search_rationale (rowid, rationale, response) SELECT id, coalesce("exclusion_proposal"."rationale", \'\'), coalesce("exclusion_proposal"."response", \'\') FROM "exclusion_proposal"',
    "CREATE VIRTUAL TABLE search_secas_comment USING fts5(comment, tokenize = 'porter unicode61', content = 'exclusion_review', content_rowid = 'id')",
    'CREATE TRIGGER search_secas_comment_ai AFTER INSERT ON "exclusion_review" BEGIN INSERT INTO search_secas_comment (rowid, comment) VALUES (NEW.id, coalesce(NEW."comment", \'\')); END',
    'CREATE TRIGGER search_secas_comment_ad AFTER DELETE ON "exclusion_review" BEGIN INSERT INTO search_secas_comment (search_secas_comment, rowid, comment) VALUES (\'delete\', OLD.id, coalesce(OLD."comment", \'\')); END',
    'CREATE TRIGGER search_secas_comment_au AFTER UPDATE OF "comment" ON "exclusion_review" BEGIN INSERT INTO search_secas_comment (search_secas_comment, rowid, comment) VALUES (\'delete\', OLD.id, coalesce(OLD."comment", \'\')); INSERT INTO search_secas_comment (rowid, comment) VALUES (NEW.id, coalesce(NEW."comment", \'\')); END',
    'INSERT INTO search_secas_comment (rowid, comment) SELECT id, coalesce("exclusion_review"."comment", \'\') FROM "exclusion_review"',
    "CREATE VIRTUAL TABLE search_comment USING fts5(body, tokenize = 'porter unicode61', content = 'review_comment', content_rowid = 'id')",
    'CREATE TRIGGER search_comment_ai AFTER INSERT ON "review_comment" BEGIN INSERT INTO search_comment (rowid, body) VALUES (NEW.id, coalesce(NEW."body", \'\')); END',
    'CREATE TRIGGER search_comment_ad AFTER DELETE ON "review_comment" BEGIN INSERT INTO search_comment (search_comment, rowid, body) VALUES (\'delete\', OLD.id, coalesce(OLD."body", \'\')); END',
    'CREATE TRIGGER search_comment_au AFTER UPDATE OF "body" ON "review_comment" BEGIN INSERT INTO search_comment (search_comment, rowid, body) VALUES (\'delete\', OLD.id, coalesce(OLD."body", \'\')); INSERT INTO search_comment (rowid, body) VALUES (NEW.id, coalesce(NEW."body", \'\')); END',
    'INSERT INTO search_comment (rowid, body) SELECT id, coalesce("review_comment"."body", \'\') FROM "review_comment"',
    "CREATE VIRTUAL TABLE search_report USING fts5(body, tokenize = 'porter unicode61')",
    'CREATE TRIGGER search_report_ai AFTER INSERT ON "report_version" BEGIN INSERT INTO search_report (rowid, body) VALUES (NEW.id, coalesce((SELECT group_concat(value, char(10)) FROM json_each(NEW."sections", \'$\') WHERE type = \'text\'), \'\')); END',
    'CREATE TRIGGER search_report_ad AFTER DELETE ON "report_version" BEGIN DELETE FROM search_report WHERE rowid = OLD.id; END',
    'CREATE TRIGGER search_report_au AFTER UPDATE OF "sections" ON "report_version" BEGIN DELETE FROM search_report WHERE rowid = OLD.id; INSERT INTO search_report (rowid, body) VALUES (NEW.id, coalesce((SELECT group_concat(value, char(10)) FROM json_each(NEW."sections", \'$\') WHERE type = \'text\'), \'\')); END',
    'INSERT INTO search_report (rowid, body) SELECT id, coalesce((SELECT group_concat(value, char(10)) FROM json_each("report_version"."sections", \'$\') WHERE type = \'text\'), \'\') FROM "report_version"',
    "CREATE VIRTUAL TABLE search_decision USING fts5(minute, actions_text, tokenize = 'porter unicode61', content = 'decision', content_rowid = 'id')",
    'CREATE TRIGGER search_decision_ai AFTER INSERT ON "decision" BEGIN INSERT INTO search_decision (rowid, minute, actions_text) VALUES (NEW.id, coalesce(NEW."minute", \'\'), coalesce(NEW."actions_text", \'\')); END',
    'CREATE TRIGGER search_decision_ad AFTER DELETE ON "decision" BEGIN INSERT INTO search_decision (search_decision, rowid, minute, actions_text) VALUES (\'delete\', OLD.id, coalesce(OLD."minute", \'\'), coalesce(OLD."actions_text", \'\')); END',
    'CREATE TRIGGER search_decision_au AFTER UPDATE OF "minute", "actions_text" ON "decision" BEGIN INSERT INTO search_decision (search_decision, rowid, minute, actions_text) VALUES (\'delete\', OLD.id, coalesce(OLD."minute", \'\'), coalesce(OLD."actions_text", \'\')); INSERT INTO search_decision (rowid, minute, actions_text) VALUES (NEW.id, coalesce(NEW."minute", \'\'), coalesce(NEW."actions_text", \'\')); END',
    'INSERT INTO search_decision (rowid, minute, actions_text) SELECT id, coalesce("decision"."minute", \'\'), coalesce("decision"."actions_text", \'\') FROM "decision"',
    "CREATE VIRTUAL TABLE search_action USING fts5(reference, text, closing_note, tokenize = 'porter unicode61', content = 'action', content_rowid = 'id')",
    'CREATE TRIGGER search_action_ai AFTER INSERT ON "action" BEGIN INSERT INTO search_action (rowid, reference, text, closing_note) VALUES (NEW.id, coalesce(NEW."reference", \'\'), coalesce(NEW."text", \'\'), coalesce(NEW."closing_note", \'\')); END',
    'CREATE TRIGGER search_action_ad AFTER DELETE ON "action" BEGIN INSERT INTO search_action (search_action, rowid, reference, text, closing_note) VALUES (\'delete\', OLD.id, coalesce(OLD."reference", \'\'), coalesce(OLD."text", \'\'), coalesce(OLD."closing_note", \'\')); END',
    'CREATE TRIGGER search_action_au AFTER UPDATE OF "reference", "text", "closing_note" ON "action" BEGIN INSERT INTO search_action (search_action, rowid, reference, text, closing_note) VALUES (\'delete\', OLD.id, coalesce(OLD."reference", \'\'), coalesce(OLD."text", \'\'), coalesce(OLD."closing_note", \'\')); INSERT INTO search_action (rowid, reference, text, closing_note) VALUES (NEW.id, coalesce(NEW."reference", \'\'), coalesce(NEW."text", \'\'), coalesce(NEW."closing_note", \'\')); END',
    'INSERT INTO search_action (rowid, reference, text, closing_note) SELECT id, coalesce("action"."reference", \'\'), coalesce("action"."text", \'\'), coalesce("action"."closing_note", \'\') FROM "action"',
    "CREATE VIRTUAL TABLE search_publication USING fts5(reference, title, body, tokenize = 'porter unicode61')",
    'CREATE TRIGGER search_publication_ai AFTER INSERT ON "publication" BEGIN INSERT INTO search_publication (rowid, reference, title, body) VALUES (NEW.id, coalesce(NEW."reference", \'\'), coalesce(NEW."title", \'\'), coalesce((SELECT group_concat(value, char(10)) FROM json_each(NEW."snapshot", \'$.sections\') WHERE type = \'text\'), \'\')); END',
    'CREATE TRIGGER search_publication_ad AFTER DELETE ON "publication" BEGIN DELETE FROM search_publication WHERE rowid = OLD.id; END',
    'CREATE TRIGGER search_publication_au AFTER UPDATE OF "reference", "title", "snapshot" ON "publication" BEGIN DELETE FROM search_publication WHERE rowid = OLD.id; INSERT INTO search_publication (rowid, reference, title, body) VALUES (NEW.id, coalesce(NEW."reference", \'\'), coalesce(NEW."title", \'\'), coalesce((SELECT group_concat(value, char(10)) FROM json_each(NEW."snapshot", \'$.sections\') WHERE type = \'text\'), \'\')); END',
    'INSERT INTO search_publication (rowid, reference, title, body) SELECT id, coalesce("publication"."reference", \'\'), coalesce("publication"."title", \'\'), coalesce((SELECT group_concat(value, char(10)) FROM json_each("publication"."snapshot", \'$.sections\') WHERE type = \'text\'), \'\') FROM "publication"',
)
SQLITE_DROP = (
    'DROP TRIGGER IF EXISTS search_incident_ai',
    'DROP TRIGGER IF EXISTS search_incident_ad',
    'DROP TRIGGER IF EXISTS search_incident_au',
    'DROP TABLE IF EXISTS search_incident',
    'DROP TRIGGER IF EXISTS search_timeline_ai',
    'DROP TRIGGER IF EXISTS search_timeline_ad',
    'DROP TRIGGER IF EXISTS search_timeline_au',
    'DROP TABLE IF EXISTS search_timeline',
    'DROP TRIGGER IF EXISTS search_rationale_ai',
    'DROP TRIGGER IF EXISTS search_rationale_ad',
    'DROP TRIGGER IF EXISTS search_rationale_au',
    'DROP TABLE IF EXISTS search_rationale',
    'DROP TRIGGER IF EXISTS search_secas_comment_ai',
    'DROP TRIGGER IF EXISTS search_secas_comment_ad',
    'DROP TRIGGER IF EXISTS search_secas_comment_au',
    'DROP TABLE IF EXISTS search_secas_comment',
    'DROP TRIGGER IF EXISTS search_comment_ai',
    'DROP TRIGGER IF EXISTS search_comment_ad',
    'DROP TRIGGER IF EXISTS search_comment_au',
    'DROP TABLE IF EXISTS search_comment',
    'DROP TRIGGER IF EXISTS search_report_ai',
    'DROP TRIGGER IF EXISTS search_report_ad',
    'DROP TRIGGER IF EXISTS search_report_au',
    'DROP TABLE IF EXISTS search_report',
    'DROP TRIGGER IF EXISTS search_decision_ai',
    'DROP TRIGGER IF EXISTS search_decision_ad',
    'DROP TRIGGER IF EXISTS search_decision_au',
    'DROP TABLE IF EXISTS search_decision',
    'DROP TRIGGER IF EXISTS search_action_ai',
    'DROP TRIGGER IF EXISTS search_action_ad',
    'DROP TRIGGER IF EXISTS search_action_au',
    'DROP TABLE IF EXISTS search_action',
    'DROP TRIGGER IF EXISTS search_publication_ai',
    'DROP TRIGGER IF EXISTS search_publication_ad',
    'DROP TRIGGER IF EXISTS search_publication_au',
    'DROP TABLE IF EXISTS search_publication',
)


def upgrade():
    op.create_table(
        'import_record',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('incident_id', sa.Integer(), nullable=False),
        sa.Column('values', sa.JSON(), nullable=False),
        sa.Column('imported_at', sa.DateTime(), nullable=False),
        sa.Column('imported_by_name', sa.String(length=254), nullable=False),
        sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_import_record_incident_id_incident'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_import_record')),
        sa.UniqueConstraint('incident_id', name=op.f('uq_import_record_incident_id')),
    )
    for statement in POSTGRESQL_CREATE if op.get_bind().dialect.name == "postgresql" else SQLITE_CREATE:
        op.execute(statement)


def downgrade():
    for statement in POSTGRESQL_DROP if op.get_bind().dialect.name == "postgresql" else SQLITE_DROP:
        op.execute(statement)
    op.drop_table('import_record')
