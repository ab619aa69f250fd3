# install rules and CPack (see tests/packaging)
