"""Write the SQL script of the sqlite3 case: an in-memory database of N rows (bulk insert plus a
tenth as separate INSERT statements, so the parser works too), an index, queries, a delete.
Usage: python3 sqlite_sql.py N > script.sql"""
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000000
bulk = n - n // 10
out = sys.stdout.write
out("PRAGMA cache_size=-262144;\n")
out("CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, s TEXT, v REAL);\n")
out(
    "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < %d)\n"
    "INSERT INTO t(id, k, s, v) SELECT i, (i * 2654435761) %% 100003,\n"
    "  printf('row-%%d-%%x', i, (i * 7919) %% 65536), i * 0.5 FROM c;\n" % bulk
)
out("BEGIN;\n")
for i in range(bulk + 1, n + 1):
    out("INSERT INTO t VALUES(%d, %d, 'row-%d-%x', %s);\n" % (i, (i * 2654435761) % 100003, i, (i * 7919) % 65536, i * 0.5))
out("COMMIT;\n")
out("CREATE INDEX t_k ON t(k);\nCREATE INDEX t_s ON t(s);\n")
out("SELECT count(*), sum(k), max(length(s)), sum(v) FROM t;\n")
out("SELECT k % 100, count(*), sum(v) FROM t GROUP BY k % 100 ORDER BY 2 DESC, 1 LIMIT 5;\n")
out("SELECT count(*) FROM t a JOIN t b ON a.k = b.id WHERE a.id % 10 = 0;\n")
out("SELECT s FROM t ORDER BY s DESC LIMIT 3;\n")
out("SELECT count(DISTINCT substr(s, 1, 7)) FROM t;\n")
out("DELETE FROM t WHERE id % 3 = 0;\n")
out("UPDATE t SET s = s || '-x' WHERE id % 7 = 0;\n")
out("SELECT count(*), sum(k), sum(length(s)) FROM t;\n")
