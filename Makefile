# memory_ext: the commands a new user needs. See README.md.
.PHONY: demo test stop psql bench setup install regress

demo:            ## install everything, start a server on :28815 and the REST service on :28816, run the demo
	bash scripts/demo.sh

test:            ## everything CI checks
	bash scripts/test.sh

stop:            ## stop the demo server and its REST service
	bash scripts/service.sh stop 28815 28816
	bash scripts/server.sh stop 28815

psql:            ## open a session on the demo database
	psql -X -h localhost -p 28815 -U postgres memory_demo

bench:           ## benchmarks (not part of CI)
	bash benches/run.sh

setup:           ## only install the toolchain and PostgreSQL
	bash scripts/setup.sh

install:         ## only build and install the extension
	bash scripts/install.sh

regress:         ## only the end-to-end SQL tests (extension already installed)
	bash scripts/regress.sh
