-- A job is done once in the record: a second `done` event of the same job (a completion
-- Redis lost and a worker redid, after a crash of Redis) is not recorded again.
DELETE FROM job_events a USING job_events b
 WHERE a.kind = 'done' AND b.kind = 'done' AND a.job_id = b.job_id AND a.stream_id > b.stream_id;
CREATE UNIQUE INDEX job_events_one_done ON job_events (job_id) WHERE kind = 'done';
