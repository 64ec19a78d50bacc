-- A user in many projects pages resources newest first and checks each
-- row's membership; a filter on a value few rows have (a kind, a status, a
-- cloud) would read the whole table that way. These give each filter its own
-- newest-first order, so such a page reads only rows that match.
CREATE INDEX resources_status ON resources(status, id);
CREATE INDEX resources_kind ON resources(kind, id);
CREATE INDEX resources_cloud ON resources(cloud, id);
