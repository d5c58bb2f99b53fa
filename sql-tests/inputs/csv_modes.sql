-- CSV mode: PERMISSIVE (the default) keeps malformed records with NULLs and, if the table
-- declares it, the raw line in columnNameOfCorruptRecord; DROPMALFORMED skips them; FAILFAST stops.
CREATE TABLE permissive (id INT, name STRING, amount DOUBLE, _corrupt_record STRING) USING csv OPTIONS (header 'true') LOCATION '$DATA_DIR/malformed.csv';
SELECT * FROM permissive ORDER BY name;
SELECT count(*) AS bad FROM permissive WHERE _corrupt_record IS NOT NULL;
CREATE TABLE permissive_named (id INT, name STRING, amount DOUBLE, raw STRING) USING csv OPTIONS (header 'true', mode 'PERMISSIVE', columnNameOfCorruptRecord 'raw') LOCATION '$DATA_DIR/malformed.csv';
SELECT name, raw FROM permissive_named WHERE raw IS NOT NULL ORDER BY name;
CREATE TABLE plain (id INT, name STRING, amount DOUBLE) USING csv OPTIONS (header 'true') LOCATION '$DATA_DIR/malformed.csv';
SELECT * FROM plain ORDER BY name;
CREATE TABLE dropped (id INT, name STRING, amount DOUBLE) USING csv OPTIONS (header 'true', mode 'DROPMALFORMED') LOCATION '$DATA_DIR/malformed.csv';
SELECT * FROM dropped ORDER BY id;
CREATE TABLE failfast (id INT, name STRING, amount DOUBLE) USING csv OPTIONS (header 'true', mode 'FAILFAST') LOCATION '$DATA_DIR/malformed.csv';
SELECT * FROM failfast;
CREATE TABLE bad_mode (id INT) USING csv OPTIONS (mode 'LENIENT') LOCATION '$DATA_DIR/malformed.csv';
