-- queueSize: entrypoint asc (byte order = UTF-16 order for entrypoint characters), status
-- queued, picked, failed, priority desc.
SELECT j.entrypoint, j.status, j.priority, count(*) AS count
  FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs j
 GROUP BY j.entrypoint, j.status, j.priority
 ORDER BY j.entrypoint COLLATE "C",
          CASE j.status WHEN 'queued' THEN 0 WHEN 'picked' THEN 1 ELSE 2 END,
          j.priority DESC;
