@echo off
rem cardtill: make the data folder, the config and their access rights.
rem Run it from an Administrator prompt, in the folder you unzipped.
rem
rem   setup.cmd till USER     a till on this PC, run by USER (the cashier's
rem                           Windows account, e.g. STORE12\cashier, or a
rem                           local group of cashiers)
rem   setup.cmd hub [FOLDER]  the hub (the cardtill-hub service, LocalSystem)
rem                           in FOLDER, %ProgramData%\cardtill by default
rem
rem Till: %ProgramData%\cardtill belongs to Administrators and SYSTEM; USER
rem may create and change files in it (the journal, its backups, the log,
rem the control socket) but only read config.toml and the secret files
rem (terminal.key, appsecret).
rem Hub: FOLDER (config with the push Token and AES key, appsecret, hub.db,
rem the log and the admin socket) belongs to Administrators and SYSTEM
rem alone. A PC that is a till too puts the hub in its own folder:
rem   setup.cmd hub %ProgramData%\cardtill\hub
rem
rem Accounts are named by SID so that this works on any Windows language:
rem S-1-5-32-544 = Administrators, S-1-5-18 = SYSTEM.
rem It never overwrites an existing config.toml; run it again after an
rem upgrade or to change USER (the rights are set anew).

setlocal
set "ADMINS=*S-1-5-32-544"
set "SYSTEM=*S-1-5-18"

rem fltmc answers only an Administrator (or SYSTEM, as under the MSI); unlike
rem "net session" it does not need the Server service, which store PCs often disable.
fltmc >nul 2>&1
if errorlevel 1 (
	echo setup.cmd: run it from an Administrator prompt
	exit /b 1
)
if not exist "%~dp0config.example.toml" (
	echo setup.cmd: config.example.toml is not next to setup.cmd: run it from the unzipped folder
	exit /b 1
)
if /i "%~1"=="till" goto till
if /i "%~1"=="hub" goto hub
echo usage: setup.cmd till USER    or    setup.cmd hub [FOLDER]
exit /b 2

:till
if "%~2"=="" (
	echo setup.cmd: name the Windows account that runs the till: setup.cmd till USER
	exit /b 2
)
set "DIR=%ProgramData%\cardtill"
set "USR=%~2"
call :folder || exit /b 1
icacls "%DIR%" /inheritance:r /grant:r "%ADMINS%:(OI)(CI)F" "%SYSTEM%:(OI)(CI)F" "%USR%:(OI)(CI)M" >nul
if errorlevel 1 (
	echo setup.cmd: icacls failed on %DIR%: is "%USR%" a Windows account on this PC?
	exit /b 1
)
for %%f in (config.toml terminal.key appsecret) do (
	if exist "%DIR%\%%f" (
		icacls "%DIR%\%%f" /inheritance:r /grant:r "%ADMINS%:F" "%SYSTEM%:F" "%USR%:R" >nul
		if errorlevel 1 (
			echo setup.cmd: icacls failed on %DIR%\%%f
			exit /b 1
		)
	)
)
echo %DIR%: %USR% may write the journal and the log; config.toml is read-only to %USR%.
echo Next: edit %DIR%\config.toml ([terminal] id, [wechat] hub_url), put the
echo terminal key in %DIR%\terminal.key, then run this again so that only
echo Administrators and %USR% can read the key, and run "cardtill doctor" as %USR%.
exit /b 0

:hub
set "DIR=%ProgramData%\cardtill"
if not "%~2"=="" set "DIR=%~f2"
call :folder || exit /b 1
icacls "%DIR%" /inheritance:r /grant:r "%ADMINS%:(OI)(CI)F" "%SYSTEM%:(OI)(CI)F" >nul
if errorlevel 1 (
	echo setup.cmd: icacls failed on %DIR%
	exit /b 1
)
rem Files made before keep no explicit rights of their own.
for %%f in (config.toml terminal.key appsecret) do (
	if exist "%DIR%\%%f" icacls "%DIR%\%%f" /reset >nul
)
echo %DIR%: only Administrators and SYSTEM (the service) can read or change it.
if /i "%DIR%"=="%ProgramData%\cardtill" (
	echo Next: edit %DIR%\config.toml: in [hub] set secret_file = '%DIR%\appsecret',
	echo and put the AppSecret there; then: cardtill doctor --hub,
	echo cardtill service install, cardtill service start
) else (
	echo Next: edit %DIR%\config.toml: in [hub] set store_path = '%DIR%\hub.db' and
	echo secret_file = '%DIR%\appsecret', and put the AppSecret there; then:
	echo   cardtill --config "%DIR%\config.toml" doctor --hub
	echo   cardtill service install --config "%DIR%\config.toml"
	echo   cardtill service start
)
exit /b 0

:folder
if not exist "%DIR%" (
	mkdir "%DIR%"
	if errorlevel 1 (
		echo setup.cmd: cannot make %DIR%
		exit /b 1
	)
)
if exist "%DIR%\config.toml" (
	echo keeping the existing %DIR%\config.toml
) else (
	copy "%~dp0config.example.toml" "%DIR%\config.toml" >nul
	if errorlevel 1 (
		echo setup.cmd: cannot copy config.example.toml to %DIR%
		exit /b 1
	)
)
exit /b 0
