-- Versions whose policy facts name a marking the node could not interpret
-- (a definition not yet known when they were stored). When the definition
-- arrives, the write path finds them through this partial index, which
-- holds only such versions, and completes their facts and audience.
CREATE INDEX versions_unresolved ON versions (pk) WHERE instr(facts, '"Unknown":["') > 0;
